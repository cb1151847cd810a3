<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
 <renderer-v2 type="categorizedSymbol" attr="status" symbollevels="0" enableorderby="0" forceraster="0">
  <categories>
   <category render="true" value="active" label="in Betrieb / active" symbol="0"/>
   <category render="true" value="planned" label="geplant / planned" symbol="1"/>
   <category render="true" value="under_construction" label="im Bau / under construction" symbol="2"/>
   <category render="true" value="out_of_service" label="außer Betrieb / out of service" symbol="3"/>
   <category render="true" value="decommissioned" label="zurückgebaut / decommissioned" symbol="4"/>
  </categories>
  <symbols>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="43,131,186,255"/><prop k="name" v="diamond"/><prop k="size" v="3"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="0,112,192,255"/><prop k="name" v="diamond"/><prop k="size" v="3"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="255,140,0,255"/><prop k="name" v="diamond"/><prop k="size" v="3"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="150,150,150,255"/><prop k="name" v="diamond"/><prop k="size" v="3"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="0,0,0,255"/><prop k="name" v="diamond"/><prop k="size" v="3"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
</qgis>
